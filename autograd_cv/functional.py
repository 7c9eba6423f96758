"""torch.nn.functional's names for the neural-network ops (NCHW, OIHW, (out, in) weights)."""
