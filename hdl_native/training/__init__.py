"""Training: the run configuration, the loop shared by every trainer program, evaluation, logging, interrupts.

``config.RunConfig`` is one run's configuration, built once from the command line;
``session.Session`` runs it (setup, train, report) with the helpers in ``start``
and ``summary``.  ``loop.Trainer`` feeds one graph built once, its batches made
by ``feed`` and its learning rate and --l2 factor given by ``schedule``;
``evaluate`` measures a model on a split; ``sqlite_log`` records chapter 6's
inspection tables; ``interrupt`` turns Ctrl-C/SIGTERM into a clean stop after
the current batch.  Nothing here imports ``inspect`` or ``synth`` (the bootstrap interval the
fine-tune reports is ``hdl_native.intervals``, which inspection shares).
"""
