"""idempotency: keep the answer's ETag and Location, so that a retry sees them again

Creating a dossier answers with the ETag and Location the app needs to edit the draft at once;
a retry of that request (same Idempotency-Key) replays the stored answer, headers included.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('headers')
