"""Reception kiosk (Textual): visitor check-in by QR invitation or walk-in."""
