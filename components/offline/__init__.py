"""Tools that evaluate the program without a cluster or the Pulumi CLI (tests, benchmark, reviews).

`engine` runs the real `__main__.py` under Pulumi's mock engine and records every registration;
`diff` compares two evaluations (what changed, which pods roll). The program itself never imports
this package.
"""
