"""Emergency resources (应急资源): supply depots and stock, team bases and equipment, shelters,
hazard points and experts; their coverage questions and their map layers' data.

- registry.py  depots, shelters, hazard points, experts: one validator, scoped audited writes,
               role-masked lists, hazard_contacts (the people a village's 叫应 chain calls);
- stock.py     receipts and issues (never below zero, one transaction), minimums, the reminders;
- bases.py     team bases, readiness, itemised equipment (side tables beside `teams`);
- geo.py       great-circle distance and the nearest-resource rule (pure);
- coverage.py  nearest team / depot per hazard point, shelter capacity, township shortages;
- transfer.py  import (all or nothing) and export of each registry.
"""

from .registry import hazard_contacts

__all__ = ["hazard_contacts"]
