"""Vietnamese phone numbers: one meaning of a phone value for every flow that reads one.

``rules`` holds the definitions (characters, country code, trunk zero, the 2018 renumbering, the
reject reasons) and the two small readings the receiver and reconciliation need; ``reference``
decides one value at a time with ``phonenumbers`` as the oracle; ``vbotflow.campaigns.phones``
makes the same decision for a whole column with Arrow kernels.
"""
