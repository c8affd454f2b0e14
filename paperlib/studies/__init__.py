"""What the notebooks show: each study computes the tables, findings text and verdicts of its
notebook from the method, the search, the attacks, the defences and the network simulation, so a
notebook is parameters, calls, plots and narrative: ``nbNN_<topic>`` belongs to notebook NN
(docs/decisions/layout.md §5). ``report`` saves figures and tables."""
