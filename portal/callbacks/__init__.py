"""Delivery callbacks: the portal tells a token's system when its messages reach a
final state, by a signed HTTP POST the worker delivers (with retries) after the mail."""
