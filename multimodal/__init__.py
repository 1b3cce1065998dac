"""Multimodal requests: speech-to-text, text-to-speech and vision, with tenant policies."""
