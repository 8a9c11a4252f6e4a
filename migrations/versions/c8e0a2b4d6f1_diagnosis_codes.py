"""diagnoses stored as codes with parameters (JSON) instead of English prose

Revision ID: c8e0a2b4d6f1
Revises: b2d4f6a8c0e1
Create Date: 2026-12-01 03:00:00.000000

Each stored diagnosis of messages and attempts that reads as the English texts the
portal wrote becomes a JSON list of parts (``portal.mail.diagnosis``), rendered in the
reader's language; the quoted server reply becomes the part's parameter. Text that
matches no known wording is kept verbatim as a ``legacy`` part. The downgrade writes
the English text back. The column stays Text: only its content changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8e0a2b4d6f1'
down_revision = 'b2d4f6a8c0e1'
branch_labels = None
depends_on = None

TABLES = ('messages', 'attempts')
BATCH = 2000


def _convert(table_name, change):
    """Rewrite every non-empty diagnosis of ``table_name`` with ``change`` (text -> text,
    or None to leave the row), in batches by primary key."""
    bind = op.get_bind()
    table = sa.table(table_name, sa.column('id', sa.Integer), sa.column('diagnosis', sa.Text))
    update = (sa.update(table).where(table.c.id == sa.bindparam('pk'))
              .values(diagnosis=sa.bindparam('new')))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.diagnosis)
            .where(table.c.id > last, table.c.diagnosis.is_not(None), table.c.diagnosis != '')
            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1][0]
        changed = [{'pk': pk, 'new': new} for pk, old in rows
                   if (new := change(old)) is not None and new != old]
        if changed:
            bind.execute(update, changed)


def _to_codes(text):
    from portal.mail.diagnosis import store
    from portal.mail.diagnosis_legacy import is_stored_parts, parse

    return None if is_stored_parts(text) else store(parse(text))


def _to_english(text):
    from portal.mail.diagnosis import describe_english
    from portal.mail.diagnosis_legacy import is_stored_parts

    return describe_english(text) if is_stored_parts(text) else None


def upgrade():
    for table_name in TABLES:
        _convert(table_name, _to_codes)


def downgrade():
    for table_name in TABLES:
        _convert(table_name, _to_english)
