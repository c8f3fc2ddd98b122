"""The tutorial's programs as short, readable stories (the CLI commands only parse arguments and print).

- threeorseven: chapter 1, a linear network configured by hand to tell a 3 from a 7;
- learn37: chapter 2, the same network learning its weights from examples;
- gd_demo: the Grokking Deep Learning single-weight examples (hot/cold learning, gradient descent).
"""
