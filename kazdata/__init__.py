"""kazdata: publish a sourced knowledge graph of the December 2011 Zhanaozen events as Linked Data.

Data flows one way: sources -> build -> immutable release -> serve.
"""

__version__ = "0.1.0"
