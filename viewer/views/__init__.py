"""Views: widgets that show the state or render results (3D viewport, render panes, inspector)."""
