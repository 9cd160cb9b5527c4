"""Stage ii_5, pseudos: clients introduce themselves with `Hello|<PSEUDO>` and are announced."""
