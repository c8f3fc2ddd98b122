"""Training: the loop shared by every trainer program, evaluation, SQLite logging and interrupts.

``loop.Trainer`` feeds one graph built once; ``evaluate`` measures a model on a
split; ``sqlite_log`` records chapter 6's inspection tables; ``interrupt``
turns Ctrl-C/SIGTERM into a clean stop after the current batch;
``session`` is the command-line front end that the `digits` and `letters`
commands share.
"""
