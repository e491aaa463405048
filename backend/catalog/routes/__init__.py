"""HTTP routes of the catalog: public (``public``) and its administration (``admin``)."""
