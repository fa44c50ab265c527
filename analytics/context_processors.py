from analytics import access


def analytics(request):
    user = request.user
    return {"can_view_analytics": user.is_authenticated and access.can_view(user)}
