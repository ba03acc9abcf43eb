"""The fields of the generic REST adapter's follow-up appointment templates
(`[[find_appointments]]`, `[check_in]`; decision 0150), beside the mapping grammar
(`rest_mapping`) so `kiosk config check` validates them without importing a service.
"""

from __future__ import annotations

from kiosk.config.rest_mapping import PATIENT_FIELDS, VISIT_FIELDS

SEARCH_FIELDS = (*PATIENT_FIELDS, "window_start", "window_end", "date")
CHECKIN_FIELDS = (*VISIT_FIELDS, "appointment_ref")
# `fields = {ref = "id", start = "thoi_gian", ...}`: where each is in one found item.
RESULT_FIELDS = ("ref", "start", "service_name", "department", "room", "doctor",
                 "order_number", "patient_ref", "status")
