"""The operations hub: one view over the live processes of the platform, with controls."""
