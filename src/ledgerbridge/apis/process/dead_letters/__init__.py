"""The dead-letters Process API: inspect, replay and discard what the Process layer gave up on."""
