"""dossiers: indexes in the officer queue's order (due date, then id)

The queue lists an officer's dossiers by ``due_at, id``. The index on (agency_id, status,
due_at) serves it only when a status is picked; without one, PostgreSQL read and sorted every
dossier of the agency. (agency_id, due_at, id) hands one agency's dossiers over in queue order,
and (due_at, id) does the same for officers whose grants reach several agencies.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_agency_id_due_at_id', ['agency_id', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_dossiers_due_at_id', ['due_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_due_at_id')
        batch_op.drop_index('ix_dossiers_agency_id_due_at_id')
