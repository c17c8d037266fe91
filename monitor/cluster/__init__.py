"""Scale-out: `monitor run --role scheduler|worker` on Celery and PostgreSQL (issue 12).

Modules by role (docs/SCALING.md draws the whole):

* :mod:`~monitor.cluster.settings` - the ``cluster:`` config section;
* :mod:`~monitor.cluster.app` - the Celery app and its delivery settings;
* :mod:`~monitor.cluster.nodes` - each process's row and heartbeat;
* :mod:`~monitor.cluster.leader` - which scheduler leads (a PostgreSQL advisory lock);
* :mod:`~monitor.cluster.dispatch` - what is due, as one batch per site, re-sent until done;
* :mod:`~monitor.cluster.leases` - one running batch per site in the whole cluster;
* :mod:`~monitor.cluster.tasks` - the batch task a worker runs;
* :mod:`~monitor.cluster.scheduler` and :mod:`~monitor.cluster.worker` - the processes;
* :mod:`~monitor.cluster.status` - what ``monitor status`` shows of the cluster.

Importing this package imports nothing of Celery: a single node never needs it.
"""

from __future__ import annotations
