"""Hardware drivers: smart cards (ICAO 9303), camera, QR, printer. No hospital knowledge."""
