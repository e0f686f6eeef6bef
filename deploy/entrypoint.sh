#!/bin/sh
# Secrets arrive as files (compose secrets, systemd credentials, Kubernetes): NAME_FILE names
# the file whose content becomes NAME, so a secret never sits in the image, the compose file
# or `docker inspect`. Then run the command.
set -eu
for name in TILLCRM_CRM_ADMIN_TOKEN PGPASSWORD; do
    eval "file=\${${name}_FILE:-}"
    if [ -n "$file" ]; then
        value=$(cat "$file")
        export "$name=$value"
    fi
done
exec "$@"
