"""identity: keep the pair a refresh token was exchanged for, sealed, for a retry's grace period

A phone that loses the answer to a refresh sends the same token again; within a short grace
period it gets the same pair back instead of having its session revoked for reuse.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('successor_sealed', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('successor_sealed')
