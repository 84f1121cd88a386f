"""Dataset cards and Hugging Face Hub publishing."""
