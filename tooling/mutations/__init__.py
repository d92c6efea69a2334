"""Mutation tests of the policy pack: break each security promise in a copy of a stack's
recorded graph and check that exactly the policies that enforce it catch the break.

    promises.py    what the README and the design promise, and which policies enforce it
    catalog.py     the breaks, one edit of a recorded graph each
    run.py         running them through the real pack (one analyzer per stack)
    __main__.py    `make policy-report`: the table and the counts
"""
