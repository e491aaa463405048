"""identity: a session's last sighting is its newest refresh token's time

Every sign-in and every refresh issues a refresh token, so the newest token's issued_at is when
the device was last seen, and a refresh no longer updates sessions.last_seen_at. The column
becomes nullable and stays for one release: pods of the previous release, still serving during
a rolling update, write it; the next release drops it. The index on a session's tokens gains
issued_at, so the newest one is read from the index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_session_id_issued_at', ['session_id', 'issued_at'], unique=False)
        batch_op.drop_index('ix_refresh_tokens_session_id')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade():
    op.execute(
        "UPDATE sessions SET last_seen_at = COALESCE((SELECT MAX(issued_at) FROM refresh_tokens"
        " WHERE refresh_tokens.session_id = sessions.id), created_at)"
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_session_id', ['session_id'], unique=False)
        batch_op.drop_index('ix_refresh_tokens_session_id_issued_at')
