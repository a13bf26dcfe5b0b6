"""Names of the data codes that the catalog uses, so that they are extracted into locales/.

A product's category and unit are codes in the CSV ("seeds_fertilizer", "bag"); what people see
is the catalog entry "category:seeds_fertilizer" / "unit:bag" in their language. A code without
an entry is shown as it is, so an admin can import a new category before it is translated.
"""

from locales import N_

CATEGORIES = (
    N_("category:seeds_fertilizer"),
    N_("category:pesticides"),
    N_("category:farm_tools"),
    N_("category:household"),
    N_("category:food_drink"),
    N_("category:clothing"),
    N_("category:appliances"),
    N_("category:phones"),
    N_("category:building"),
    N_("category:health"),
)

UNITS = (
    N_("unit:piece"),
    N_("unit:bag"),
    N_("unit:bottle"),
    N_("unit:box"),
    N_("unit:pack"),
    N_("unit:set"),
    N_("unit:pair"),
    N_("unit:kg"),
    N_("unit:jin"),
    N_("unit:metre"),
    N_("unit:roll"),
    N_("unit:barrel"),
    N_("unit:can"),
    N_("unit:sheet"),
    N_("unit:tube"),
    N_("unit:dozen"),
    N_("unit:ton"),
)
