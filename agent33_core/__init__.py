"""The small kit the three apps share; it imports none of them, nor `agent33_site`."""
