"""Every table: the shared ones (``services.models``) and those of the domain packages
(``services.dengue.models``, ``services.disaster.models``) and the knowledge edits
(``services.models_knowledge``). Import this module where the whole
schema must be known: Alembic's env and the tests' clean-up. (``services.models`` cannot import
the packages' tables itself: a package's ``__init__`` loads its services, which import
``services.models``.)"""
from services import models  # noqa: F401
from services.db import Base
from services.dengue import models as dengue_models  # noqa: F401
from services.disaster import models as disaster_models  # noqa: F401
from services import models_knowledge  # noqa: F401

metadata = Base.metadata
