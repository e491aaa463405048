"""dossiers: partial indexes in the officer queue's order (due date, then id) for open dossiers

The queue lists an officer's open dossiers by ``due_at, id``. The index on (agency_id, status,
due_at) serves it only when a status is picked; without one, PostgreSQL read and sorted every
dossier of the agency. (agency_id, due_at, id) hands one agency's open dossiers over in queue
order, and (due_at, id) does the same for officers whose grants reach several agencies. Both
leave out drafts and finished dossiers, which outnumber the open ones many times over and would
otherwise be walked past on every page.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# As backend.dossiers.models.OPEN_SQL on the day of this migration.
OPEN = "status NOT IN ('draft', 'refused', 'returned', 'stopped', 'withdrawn')"


def upgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index(
            'ix_dossiers_open_agency_id_due_at_id',
            ['agency_id', 'due_at', 'id'],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.create_index(
            'ix_dossiers_open_due_at_id',
            ['due_at', 'id'],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_open_due_at_id')
        batch_op.drop_index('ix_dossiers_open_agency_id_due_at_id')
