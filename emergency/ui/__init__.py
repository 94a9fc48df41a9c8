"""Streamlit pages: thin scripts that read a service, draw it, and call a service on submit."""
