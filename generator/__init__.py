"""tokengate: one YAML spec to a reviewable Azure AI gateway (APIM, Azure OpenAI, token limits)."""

__version__ = "0.1.0"
