"""ICAO 9303 eMRTD: APDUs, secure messaging, BAC, PACE, LDS files, passive authentication."""
