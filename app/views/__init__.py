"""What shows a photo: the compare and scales views, zooming and panning, rendering, clipping."""
