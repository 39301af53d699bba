"""Billing: charges each allocation's GPU-hours at its tariff and issues the applicant's invoice."""
