"""Live champion–challenger: a candidate tested on live traffic, judged as outcomes mature.

With ``[live] mode`` off (the default) nothing here runs. In ``shadow`` mode the candidate
scores every row beside the champion without deciding anything; in ``split`` mode a
deterministic share of the ids is decided by the candidate. Scores go to a score log,
outcomes arrive later and join it by id, and a sequential policy judges the candidate
on the matured rows, look after look.
"""
