"""The work service: what a participant does in the lifecycle, and where each object goes.

`service.WorkService` is the one layer the CLI, the HTTP API and the web UI
call; `routing` decides every destination of an object (the nodes of the
parties it concerns, the hubs of its inherited category); `private` seals
objects in `message`s for named recipients.
"""
