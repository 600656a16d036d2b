"""Imported only by the process pool's fork server (see ``pool.start_pool``).

Building the default Scorer here, once, means every worker forks with VADER's lexicon loaded
and the complaint layer's patterns compiled, instead of spending ~0.2 s (more on a loaded
machine) building its own before its first job. A brand with its own lexicon still finds the
lexicon, the complaint file and the compiled patterns ready; only its merge is left to do.
"""

from monitor.sentiment.scorer import Scorer

Scorer()
