"""Pydantic bodies per route group; fields spelled as on the wire (userID, faceURL)."""
