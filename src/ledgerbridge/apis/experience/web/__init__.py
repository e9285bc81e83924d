"""The Experience layer's web pages: the customer portal and the operations console."""
