# Shortcuts for the compose stack (docker-compose.yml); see docs/deployment.md.
# `docker compose` (v2 plugin) when present, else the standalone `docker-compose`; override with COMPOSE=...
ifndef COMPOSE
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
endif

.DEFAULT_GOAL := help
.PHONY: help build start-all down restart-all logs shell \
	restart-auth restart-conversation restart-chat restart-gateway

help:
	@echo 'Usage: make TARGET'
	@echo '  start-all             build the image and start every service in the background'
	@echo '  down                  stop and remove the containers (volumes are kept)'
	@echo '  restart-all           down, then start-all'
	@echo '  build                 build the image without starting anything'
	@echo '  logs [service=NAME]   follow the logs of every service, or of one'
	@echo '  shell service=NAME    open a shell in a running service container'
	@echo '  restart-auth          rebuild and recreate auth only'
	@echo '  restart-conversation  rebuild and recreate conversation only'
	@echo '  restart-chat          rebuild and recreate chat only'
	@echo '  restart-gateway       rebuild and recreate gateway only'

build:
	$(COMPOSE) build

start-all:
	$(COMPOSE) up --build -d

down:
	$(COMPOSE) down

restart-all:
	$(COMPOSE) down
	$(COMPOSE) up --build -d

logs:
	$(COMPOSE) logs -f --tail=200 $(service)

shell:
	$(if $(service),,$(error usage: make shell service=NAME))
	$(COMPOSE) exec $(service) sh

restart-auth restart-conversation restart-chat restart-gateway: restart-%:
	$(COMPOSE) up --build -d --no-deps $*
