/// The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`.
enum OpenAPIDocument {
    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {"title": "Allot API", "version": "1",
                   "description": "Allot's control plane. Every /v1 call needs Authorization: Bearer <token>; errors are {\"error\":{\"code\",\"message\"}}."},
          "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
              "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
              "Quantity": {"oneOf": [{"type": "number"}, {"type": "string"}], "description": "CPU: 2, 0.5, 500m; bytes: 16GiB, 16Gi, 16GB, 16G, 1024"},
              "Requests": {"type": "object", "additionalProperties": false, "properties": {
                "cpu": {"$ref": "#/components/schemas/Quantity"}, "memory": {"$ref": "#/components/schemas/Quantity"},
                "disk": {"$ref": "#/components/schemas/Quantity"}, "network": {"$ref": "#/components/schemas/Quantity"},
                "gpus": {"type": "integer", "minimum": 0}, "gpuModel": {"type": "string"}, "gpuMemory": {"$ref": "#/components/schemas/Quantity"},
                "extended": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Quantity"}}}},
              "JobSubmission": {"type": "object", "required": ["command"], "additionalProperties": false, "properties": {
                "command": {"type": "array", "items": {"type": "string"}, "minItems": 1}, "name": {"type": "string"},
                "env": {"type": "object", "additionalProperties": {"type": "string"}}, "maxAttempts": {"type": "integer", "minimum": 1, "maximum": 100},
                "tenant": {"type": "string"}, "priority": {"type": "integer"}, "class": {"enum": ["critical", "standard", "best-effort"]},
                "requests": {"$ref": "#/components/schemas/Requests"},
                "limits": {"type": "object", "properties": {"cpu": {"$ref": "#/components/schemas/Quantity"}, "memory": {"$ref": "#/components/schemas/Quantity"}}},
                "gang": {"type": "integer", "minimum": 1}, "preemptible": {"type": "boolean"}, "estimate": {"type": "number", "minimum": 0}}},
              "Job": {"type": "object", "required": ["id", "state", "command", "task", "sequence", "submittedAt", "attempt", "maxAttempts"], "properties": {
                "id": {"type": "string"}, "name": {"type": "string"},
                "state": {"enum": ["pending", "scheduled", "running", "succeeded", "failed", "cancelled", "lost"]},
                "command": {"type": "array", "items": {"type": "string"}}, "environment": {"type": "object"}, "task": {"type": "object"},
                "sequence": {"type": "integer"}, "submittedAt": {"type": "number"}, "scheduledAt": {"type": "number"},
                "startedAt": {"type": "number"}, "finishedAt": {"type": "number"}, "attempt": {"type": "integer"}, "retries": {"type": "integer"},
                "maxAttempts": {"type": "integer"}, "exitCode": {"type": "integer"}, "reason": {"type": "string"},
                "placements": {"type": "array", "items": {"type": "object", "properties": {"node": {"type": "string"},
                  "gpuIndices": {"type": "array", "items": {"type": "integer"}}, "gpuMemoryBytes": {"type": "integer"},
                  "cpuMillis": {"type": "integer"}, "memoryBytes": {"type": "integer"}}}}}},
              "JobView": {"type": "object", "required": ["job"], "properties": {"job": {"$ref": "#/components/schemas/Job"},
                "queuePosition": {"type": "integer"}, "estimatedStartAt": {"type": "number"}}},
              "LogChunk": {"type": "object", "properties": {"job": {"type": "string"}, "offset": {"type": "integer"},
                "stream": {"enum": ["stdout", "stderr"]}, "text": {"type": "string"}}},
              "Node": {"type": "object", "properties": {"name": {"type": "string"}, "state": {"enum": ["ready", "down"]},
                "cordoned": {"type": "boolean"}, "draining": {"type": "boolean"}, "inventory": {"type": "object"}, "usage": {"type": "object"},
                "joinedAt": {"type": "number"}, "lastHeartbeatAt": {"type": "number"}, "jobs": {"type": "array", "items": {"type": "string"}}}},
              "AgentReport": {"type": "object", "required": ["node", "jobs", "output"], "properties": {"node": {"type": "string"},
                "inventory": {"type": "object"}, "usage": {"type": "object"}, "jobs": {"type": "array"}, "output": {"type": "array"}}},
              "AgentDirective": {"type": "object", "properties": {"version": {"type": "integer"}, "assignments": {"type": "array"},
                "scanIntervalSeconds": {"type": "number"}, "gracePeriodSeconds": {"type": "number"}, "inventoryRequested": {"type": "boolean"}}}
            },
            "responses": {
              "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
          },
          "security": [{"bearer": []}],
          "paths": {
            "/health": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI"}}}},
            "/v1/jobs": {
              "post": {"summary": "Submit a job", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobSubmission"}}}},
                "responses": {"201": {"description": "Accepted and durable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
              "get": {"summary": "List jobs in submission order", "parameters": [
                  {"name": "state", "in": "query", "schema": {"type": "string"}, "description": "comma-separated states"},
                  {"name": "tenant", "in": "query", "schema": {"type": "string"}},
                  {"name": "after", "in": "query", "schema": {"type": "integer"}, "description": "sequence number to page after"},
                  {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Jobs", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/JobView"}}}}},
                  "400": {"$ref": "#/components/responses/Error"}}}
            },
            "/v1/jobs/{id}": {"get": {"summary": "One job, with why it waits, its queue position and estimated start",
              "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "Job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobView"}}}},
                "404": {"$ref": "#/components/responses/Error"}}}},
            "/v1/jobs/{id}/cancel": {"post": {"summary": "Cancel: SIGTERM, then SIGKILL after the grace period",
              "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "Job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                "404": {"$ref": "#/components/responses/Error"}}}},
            "/v1/jobs/{id}/logs": {"get": {"summary": "Output chunks after an offset",
              "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "after", "in": "query", "schema": {"type": "integer"}}],
              "responses": {"200": {"description": "Chunks", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/LogChunk"}}}}},
                "404": {"$ref": "#/components/responses/Error"}}}},
            "/v1/nodes": {"get": {"summary": "Nodes", "responses": {"200": {"description": "Nodes",
              "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}}}},
            "/v1/nodes/{name}": {"get": {"summary": "One node", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "Node", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                "404": {"$ref": "#/components/responses/Error"}}}},
            "/v1/nodes/{name}/{action}": {"post": {"summary": "cordon, drain or uncordon",
              "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "action", "in": "path", "required": true, "schema": {"enum": ["cordon", "drain", "uncordon"]}}],
              "responses": {"200": {"description": "Node", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                "404": {"$ref": "#/components/responses/Error"}}}},
            "/v1/events": {"get": {"summary": "Server-sent events: job and node changes", "responses": {"200": {"description": "text/event-stream"}}}},
            "/v1/agent/report": {"post": {"summary": "Agent heartbeat: inventory, usage, job states, output (agent token)",
              "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentReport"}}}},
              "responses": {"200": {"description": "Directive", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentDirective"}}}},
                "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}},
            "/v1/agent/directive": {"get": {"summary": "Long-poll the jobs a node must run (agent token)",
              "parameters": [{"name": "node", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "version", "in": "query", "schema": {"type": "integer"}}, {"name": "wait", "in": "query", "schema": {"type": "number"}}],
              "responses": {"200": {"description": "Directive", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentDirective"}}}}}}}
          }
        }
        """#
}
