"""Who answers for the assets: the owners the catalogue shows on every asset of this code location."""

DATA_ENGINEERING = ["team:data-engineering"]
