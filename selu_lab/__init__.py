"""selu_lab: ELU, SELU and self-normalising networks, as a library, a CLI and a Streamlit app."""

__version__ = "0.1.0"
