"""Drawing: Graphviz DOT/SVG of discovered graphs and the designed map overlaid with what happened."""
