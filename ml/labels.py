"""The four classes, their display names, and the folder names of both data sets."""

CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
DISPLAY_NAMES = {
    "glioma": "Glioma Tumor",
    "meningioma": "Meningioma Tumor",
    "notumor": "No Tumor",
    "pituitary": "Pituitary Tumor",
}
FOLDER_ALIASES = {
    "glioma": "glioma",
    "glioma_tumor": "glioma",
    "meningioma": "meningioma",
    "meningioma_tumor": "meningioma",
    "notumor": "notumor",
    "no_tumor": "notumor",
    "pituitary": "pituitary",
    "pituitary_tumor": "pituitary",
}
