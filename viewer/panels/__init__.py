"""Parameter panels, one dock each: Rasterization, Blend, Lights, Material, Camera."""
