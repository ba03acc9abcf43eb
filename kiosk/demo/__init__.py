"""`kiosk demo --headless`: scripted patients through the real journey, as a transcript."""
