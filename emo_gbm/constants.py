"""Constants of the data contract (``docs/data_format.md``), defined once.

Every stage imports modality names, rates, feature counts and the emotion order
from here; nothing else in the package spells them out.
"""

#: Modality folder names, in the fixed order used everywhere (features, models, reports).
MODALITIES = ("audio", "face_nn", "eyes", "kinect")

#: Nominal sampling rate of each modality in frames per second.
RATES = {"audio": 100, "face_nn": 50, "eyes": 50, "kinect": 15}

#: Number of feature columns (after the time column) of each modality.
N_FEATURES = {"audio": 36, "face_nn": 100, "eyes": 6, "kinect": 27}

#: Whether the file's first line is a header naming the columns (audio, kinect) or a
#: line that is not data and must be skipped (eyes, face_nn: their data rows carry no header).
HAS_HEADER = {"audio": True, "face_nn": False, "eyes": False, "kinect": True}

#: Index of the binary flag columns of the eyes modality (open flag, fixation flag),
#: counted among the features (time column excluded).
EYE_FLAG_COLUMNS = (4, 5)

#: Emotion classes; the class index 0..5 follows this order.
EMOTIONS = ("Anger", "Sad", "Disgust", "Happy", "Scared", "Neutral")
#: Number of emotion classes; class k is EMOTIONS[k].
N_CLASSES = len(EMOTIONS)

#: Label / template frame step in seconds (the 100 fps frame grid).
FRAME_STEP = 0.01
FRAME_RATE = 100

#: Frames whose annotator agreement is strictly above this are scored.
AGREEMENT_THRESHOLD = 0.6

#: Name of the agreement column in label and answer files.
AGREEMENT_COLUMN = "Agreement score"

#: Dataset splits. ``train`` has labels/, the test splits have prediction/ templates.
SPLITS = ("train", "test", "private_test")
TEST_SPLITS = ("test", "private_test")

LABELS_DIR = "labels"
TEMPLATES_DIR = "prediction"
ANSWERS_DIR = "answers"
META_FILE = "meta.csv"
