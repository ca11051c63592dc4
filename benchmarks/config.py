"""Settings of the bench: dataset sizes, subsets, sampling interval, seed."""

#: Dataset sizes of the scaling measurement, as multiples of the full size (312/143/126
#: recordings), generated with ``emo-gbm synth --scale``; 1 stands for DATA itself, which is
#: always one of the points (its times are those of the stage measurement).
SCALES = (0.25, 0.5, 1.0, 2.0)
QUICK_SCALES = (0.03,)

#: Number of train recordings of the full-size dataset, to say what size DATA is.
FULL_SIZE_TRAIN_RECORDINGS = 312

#: Interval between two samples of a stage's process-tree memory, in seconds: one sample reads
#: every process of the tree (a few ms), so finer polling would start to cost the measured stage CPU.
MEMORY_POLL_SECONDS = 0.1

#: Train recordings of the windowing throughput subset (full and --quick), and of tsfresh's,
#: whose rolling and per-window feature calculators are far slower.
WINDOWING_RECORDINGS = 24
TSFRESH_RECORDINGS = 2
QUICK_WINDOWING_RECORDINGS = 2

SEED = 0


#: File marking a folder as the bench's own scratch build folder.
BENCH_MARKER = ".emo-gbm-bench"
