"""Small runtime helpers that several layers share (services, lobby, ops, ui):
the circuit breaker and the systemd notifications. They sit below all their
users and import nothing from the kiosk, so no arrow runs back up (see
docs/decisions/0180)."""
